"""PromptCrafter SDK quickstart: keep a prompt, log what two models made of it, read it back.

Run a server (`promptcrafter serve`), then `python examples/sdk_quickstart.py`.
The server is taken from PROMPTCRAFTER_URL (default http://127.0.0.1:8000).
"""

from __future__ import annotations

from promptcrafter import ConflictError, NotFoundError, PromptCrafterClient

NAME = "Quickstart Demo"
EMAIL = "quickstart@example.com"
PASSWORD = "quickstart-demo-password"


def main() -> None:
    """Sign up (or log in), save a prompt, log two outputs, fetch them, clean up."""
    with PromptCrafterClient() as client:
        try:
            client.signup(NAME, EMAIL, PASSWORD)
            print(f"Signed up as {EMAIL}")
        except ConflictError:
            client.login(EMAIL, PASSWORD)
            print(f"Logged in as {EMAIL}")

        prompt = client.create_prompt(
            title="Product launch email",
            content="Write a subject line announcing our new laptop.",
            model="gpt-4o",
            tags=["email", "marketing"],
        )
        print(f"Saved prompt {prompt['_id']}")

        client.create_log(
            prompt["_id"], "Meet the laptop that keeps up with you.", "gpt-4o", score=8
        )
        client.create_log(
            prompt["_id"],
            "Ready to upgrade? Discover the future of tech.",
            "claude",
            notes="Engaging.",
            score=7,
        )
        for log in client.get_logs_by_prompt(prompt["_id"]):
            print(f"  {log['modelUsed']:>8} scored {log['score']}: {log['output']}")

        found = client.search_prompts("laptop")
        print(f"Search for 'laptop' found {len(found)} prompt(s)")

        client.delete_prompt(prompt["_id"])  # its logs go with it
        try:
            client.get_prompt(prompt["_id"])
        except NotFoundError as error:
            print(f"After clean-up the prompt is gone: {error}")


if __name__ == "__main__":
    main()
