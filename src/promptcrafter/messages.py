"""The contract's error messages, word for word (shared/spec/API.md)."""

NOT_FOUND = "Not found."
METHOD_NOT_ALLOWED = "Method not allowed."
BODY_TOO_LARGE = "Request body is too large."
UNEXPECTED = "An unexpected server error occurred."
DATABASE_UNAVAILABLE = "Database unavailable."
BAD_PARAMETERS = "The request is malformed or contains invalid parameters."

TOKEN_MISSING = "Authentication token is missing."
TOKEN_INVALID = "Authentication token is expired or invalid."

FIELDS_INVALID = "Required fields are missing or invalid."
PASSWORD_WEAK = "The password does not meet the security requirements."
EMAIL_TAKEN = "Email already in use."
LOGIN_FAILED = "Incorrect email or password."
LOGIN_THROTTLED = "Too many login attempts. Try again later."

PROMPT_NOT_FOUND = "No prompt found with the specified ID."
PROMPT_READ_BAD_ID = "The request is malformed or the prompt ID format is invalid."
PROMPT_READ_FORBIDDEN = "You do not have permission to access this resource."
PROMPT_BAD_ID = "The prompt ID format is invalid."
PROMPT_FORBIDDEN = "Prompt does not belong to the authenticated user."
PROMPT_UPDATE_INVALID = "Submitted data is invalid."

SEARCH_QUERY_INVALID = "Missing or malformed query string."

LOG_PROMPT_INACCESSIBLE = "Prompt ID does not exist or is not accessible."
LOGS_PROMPT_ID_INVALID = "`promptId` missing or malformed"
LOGS_PROMPT_FORBIDDEN = "User is not authorized to view logs for this prompt."
LOGS_PROMPT_NOT_FOUND = "No logs found for the specified prompt ID."
LOG_BAD_ID = "The request is malformed or the log ID format is invalid."
LOG_FORBIDDEN = "Log does not belong to the authenticated user."
LOG_NOT_FOUND = "No log found with the specified ID."
