"""Scorers (EVALUATION.md §10): how a run grades each answer, and how a run's `scorers` are checked."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from promptcrafter import messages
from promptcrafter.domain import scorers
from promptcrafter.domain.scorers import Outcome, Scorer, judge_messages, parse_judgement, parse_scorers, score
from promptcrafter.errors import Invalid


def one(scorer: dict[str, Any]) -> Scorer:
    [parsed] = parse_scorers([scorer])
    return parsed


def problems(raw: object) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as refused:
        parse_scorers(raw)
    assert refused.value.message == messages.FIELDS_INVALID
    assert refused.value.details is not None
    return refused.value.details


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


# exact


def test_exact_ignores_surrounding_whitespace() -> None:
    assert score(one({"type": "exact"}), "  Paris\n", "Paris ") == Outcome(10, None)
    assert score(one({"type": "exact"}), "Paris, France", "Paris") == Outcome(0, None)


def test_exact_is_case_sensitive_unless_told_otherwise() -> None:
    assert score(one({"type": "exact"}), "paris", "Paris").score == 0
    assert score(one({"type": "exact", "caseSensitive": False}), "PARIS", "Paris").score == 10
    assert score(one({"type": "exact", "caseSensitive": False}), "STRASSE", "Straße").score == 10


def test_exact_and_contains_do_not_score_an_item_without_expected() -> None:
    for kind in ("exact", "contains"):
        assert score(one({"type": kind}), "anything", None) == Outcome(None, None)


def test_scores_are_whole_ints_so_json_shows_10_not_10_point_0() -> None:
    outcome = score(one({"type": "exact"}), "yes", "yes")
    assert type(outcome.score) is int
    assert json.dumps(outcome.score) == "10"


# contains


def test_contains_finds_the_expected_text_anywhere_in_the_output() -> None:
    assert score(one({"type": "contains"}), "The capital is Paris.", "Paris").score == 10
    assert score(one({"type": "contains"}), "The capital is Lyon.", "Paris").score == 0


def test_contains_ignores_whitespace_around_expected() -> None:
    assert score(one({"type": "contains"}), "It is Paris.", "Paris\n").score == 10


def test_contains_is_case_sensitive_unless_told_otherwise() -> None:
    assert score(one({"type": "contains"}), "the capital is paris", "Paris").score == 0
    assert score(one({"type": "contains", "caseSensitive": False}), "THE CAPITAL IS PARIS", "Paris").score == 10


# regex


def test_regex_scores_ten_when_the_pattern_is_found_anywhere() -> None:
    scorer = one({"type": "regex", "pattern": r"\b\d{4}-\d{2}-\d{2}\b"})
    assert score(scorer, "It happened on 2024-05-17, a Friday.", None) == Outcome(10, None)
    assert score(scorer, "It happened on 17/05/2024.", "2024-05-17") == Outcome(0, None)


def test_regex_supports_inline_flags() -> None:
    assert score(one({"type": "regex", "pattern": "(?i)^yes"}), "YES, it is.", None).score == 10


def test_a_catastrophic_pattern_scores_zero_instead_of_hanging() -> None:
    # `(a+)+$` is caught by the regex package's own safeguards; `(a|a)+$` really does backtrack 2^40 ways.
    scorer = one({"type": "regex", "pattern": "(a|a)+$"})
    started = time.monotonic()
    outcome = score(scorer, "a" * 40 + "b", None)
    assert time.monotonic() - started < 1
    assert outcome == Outcome(0, scorers.PATTERN_TIMED_OUT)


def test_the_classic_nested_quantifier_also_answers_at_once() -> None:
    started = time.monotonic()
    assert score(one({"type": "regex", "pattern": "(a+)+$"}), "a" * 40 + "b", None).score == 0
    assert time.monotonic() - started < 1


def test_a_pattern_is_compiled_once_per_scorer() -> None:
    scorer = one({"type": "regex", "pattern": "cat"})
    compiled = scorer._pattern
    assert compiled is not None
    score(scorer, "a cat", None)
    score(scorer, "a dog", None)
    assert scorer._pattern is compiled


def test_an_invalid_pattern_is_refused_with_the_reason() -> None:
    [problem] = problems([{"type": "regex", "pattern": "(unclosed"}])
    assert problem["field"] == "scorers[0].pattern"
    assert problem["message"].startswith("The pattern does not compile: ")
    assert problem["message"].endswith(".")


def test_a_deeply_nested_pattern_is_refused_not_crashing() -> None:
    [problem] = problems([{"type": "regex", "pattern": "(" * 450 + "a" + ")" * 450}])
    assert problem == {
        "field": "scorers[0].pattern",
        "message": scorers.PATTERN_INVALID.format(reason="it nests too deeply"),
    }


def test_a_pattern_whose_repeats_would_compile_to_gigabytes_is_refused_quickly() -> None:
    started = time.monotonic()
    for pattern in ("(?:(?:a{100}){100}){100}", "a{4000000}", "(?x)a{4 000 000}"):
        assert problems([{"type": "regex", "pattern": pattern}]) == [
            {"field": "scorers[0].pattern", "message": scorers.PATTERN_TOO_COMPLEX}
        ]
    assert time.monotonic() - started < 1


def test_ordinary_counted_repeats_are_accepted() -> None:
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"^.{1,500}$", "a{1000}", r"(?:\d{1,3}\.){3}\d{1,3}"):
        assert one({"type": "regex", "pattern": pattern}).options == {"pattern": pattern}


def test_a_pattern_must_be_a_string_of_at_most_1000_characters() -> None:
    for pattern in ("", "a" * 1001, 5, None):
        assert problems([{"type": "regex", "pattern": pattern}]) == [
            {"field": "scorers[0].pattern", "message": scorers.USE_PATTERN}
        ]
    assert one({"type": "regex", "pattern": "a" * 1000}).options["pattern"] == "a" * 1000


def test_only_the_first_megabyte_of_an_output_is_scored() -> None:
    scorer = one({"type": "regex", "pattern": "needle"})
    assert score(scorer, "x" * 999_990 + "needle", None).score == 10
    assert score(scorer, "x" * 1_000_000 + "needle", None).score == 0


# json-schema


def test_json_schema_scores_ten_for_a_valid_document() -> None:
    scorer = one({"type": "json-schema", "schema": PERSON})
    assert score(scorer, '{"name": "Ada", "age": 36}', None) == Outcome(10, None)


def test_json_schema_notes_the_first_validation_error() -> None:
    scorer = one({"type": "json-schema", "schema": PERSON})
    outcome = score(scorer, '{"name": "Ada", "age": -1}', None)
    assert outcome.score == 0
    assert outcome.note is not None and "minimum" in outcome.note and "/age" in outcome.note
    missing = score(scorer, '{"age": 3}', None)
    assert missing.score == 0 and missing.note is not None and "name" in missing.note


def test_json_schema_scores_zero_for_an_output_that_is_not_json() -> None:
    scorer = one({"type": "json-schema", "schema": PERSON})
    for output in ("Ada is 36.", "", '{"name": NaN}', "[" * 100_000):
        assert score(scorer, output, None) == Outcome(0, scorers.OUTPUT_NOT_JSON)


def test_json_schema_reads_json_inside_one_fenced_block() -> None:
    scorer = one({"type": "json-schema", "schema": PERSON})
    assert score(scorer, 'Here it is:\n```json\n{"name": "Ada"}\n```\nAnything else?', None).score == 10
    assert score(scorer, '```\n{"name": "Ada"}\n```', None).score == 10
    assert score(scorer, '```JSON {"name": "Ada"}```', None).score == 10
    two_blocks = '```json\n{"name": "Ada"}\n```\nor\n```json\n{"name": "Bob"}\n```'
    assert score(scorer, two_blocks, None) == Outcome(0, scorers.OUTPUT_NOT_JSON)
    assert score(scorer, '```python\n{"name": "Ada"}\n```', None) == Outcome(0, scorers.OUTPUT_NOT_JSON)


def test_json_schema_notes_are_at_most_500_characters() -> None:
    scorer = one({"type": "json-schema", "schema": {"type": "string", "maxLength": 1}})
    outcome = score(scorer, json.dumps("x" * 5000), None)
    assert outcome.score == 0 and outcome.note is not None and len(outcome.note) <= 500


def test_an_invalid_json_schema_is_refused_with_the_reason() -> None:
    [problem] = problems([{"type": "json-schema", "schema": {"type": "nope"}}])
    assert problem["field"] == "scorers[0].schema"
    assert problem["message"].startswith("The schema is not a valid JSON Schema: ")
    assert problem["message"].endswith(".") and "\n" not in problem["message"]


def test_a_schema_referring_to_a_url_is_refused_without_fetching_it() -> None:
    [problem] = problems([{"type": "json-schema", "schema": {"$ref": "http://127.0.0.1:9/schema.json"}}])
    assert problem["field"] == "scorers[0].schema"
    assert "Retrieval is disabled" in problem["message"]


def test_a_schema_must_be_an_object_of_at_most_64_kib() -> None:
    for schema in (True, "{}", ["type"], None):
        assert problems([{"type": "json-schema", "schema": schema}]) == [
            {"field": "scorers[0].schema", "message": scorers.USE_SCHEMA}
        ]
    large = {"description": "x" * (64 * 1024)}
    assert problems([{"type": "json-schema", "schema": large}]) == [
        {"field": "scorers[0].schema", "message": scorers.SCHEMA_TOO_LARGE}
    ]


# numeric


def test_numeric_compares_the_first_number_in_the_output() -> None:
    scorer = one({"type": "numeric"})
    assert score(scorer, "The answer is 42, not 41.", "42") == Outcome(10, None)
    assert score(scorer, "The answer is 41, not 42.", "42") == Outcome(
        0, scorers.NUMBER_OFF.format(found="41", difference="1", expected="42")
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("Total: 1,234.5 euros", "1234.5"),
        ("-3 degrees", "-3"),
        ("x = +7", "7"),
        ("about 6.02e23 atoms", "6.02e23"),
        ("1E-3", "0.001"),
        ("a ratio of .5", "0.5"),
        ("12,34 is not a thousands group", "12"),
        ("GPT-4 says 5", "4"),
        ("1,234,567 people", "1,234,567"),
    ],
)
def test_numeric_reads_signs_decimals_thousands_and_exponents(output: str, expected: str) -> None:
    assert score(one({"type": "numeric"}), output, expected).score == 10


def test_numeric_accepts_answers_within_the_tolerance() -> None:
    scorer = one({"type": "numeric", "tolerance": 0.5})
    assert score(scorer, "3.4", "3").score == 10
    assert score(scorer, "2.5", "3").score == 10
    assert score(scorer, "3.6", "3").score == 0


def test_numeric_scores_zero_when_the_output_has_no_number() -> None:
    assert score(one({"type": "numeric"}), "I cannot tell.", "42") == Outcome(0, scorers.NO_NUMBER)


def test_numeric_does_not_score_when_expected_is_missing_or_not_a_number() -> None:
    scorer = one({"type": "numeric"})
    assert score(scorer, "42", None) == Outcome(None, None)
    for expected in ("forty-two", "nan", "inf", "1e999", ""):
        assert score(scorer, "42", expected) == Outcome(None, scorers.EXPECTED_NOT_A_NUMBER)


def test_a_tolerance_is_a_number_of_zero_or_more() -> None:
    for tolerance in (-1, "1", True, None, float("nan"), float("inf")):
        assert problems([{"type": "numeric", "tolerance": tolerance}]) == [
            {"field": "scorers[0].tolerance", "message": scorers.USE_TOLERANCE}
        ]
    assert one({"type": "numeric", "tolerance": 0}).options == {"tolerance": 0}


# judge


def test_a_judge_is_not_scored_here() -> None:
    judge = one({"type": "judge", "provider": "openai", "model": "gpt-4o", "rubric": "Be kind."})
    with pytest.raises(ValueError):
        score(judge, "output", None)


def test_judge_messages_explain_the_grading_and_carry_the_answer() -> None:
    system, user = judge_messages("Reward concision.", {"text": "A long story."}, "Short.", "Brief.")
    assert system["role"] == "system" and user["role"] == "user"
    assert "Reward concision." in system["content"]
    assert "Score: N" in system["content"] and "0 to 10" in system["content"]
    assert "A long story." in user["content"] and "Brief." in user["content"] and "Short." in user["content"]
    assert user["content"].index("A long story.") < user["content"].index("Brief.") < user["content"].index("Short.")


def test_judge_messages_leave_out_what_the_item_does_not_have() -> None:
    [_, user] = judge_messages("Rubric.", None, "The answer.", None)
    assert "Input" not in user["content"] and "Expected" not in user["content"]
    assert "The answer." in user["content"]


@pytest.mark.parametrize(
    ("text", "grade", "reasoning"),
    [
        ("Score: 8\nGood", 8, "Good"),
        ("score: 7.5/10", 7.5, ""),
        ("I'd give it 9", 9, "I'd give it 9"),
        ("No grade from me.", None, "No grade from me."),
        ("Score: 12\nOff the scale.", 10, "Off the scale."),
        ("Score: -2\nDreadful.", 0, "Dreadful."),
        ("The answer is on point.\n**Score:** 6\nMostly right.", 6, "The answer is on point.\nMostly right."),
        ("Out of 100 I would say 85, so 8.5 here.", 8.5, "Out of 100 I would say 85, so 8.5 here."),
    ],
)
def test_a_judgement_gives_a_grade_and_its_reasoning(text: str, grade: float | None, reasoning: str) -> None:
    assert parse_judgement(text) == (grade, reasoning)


def test_a_judgement_keeps_whole_grades_as_ints_and_bounds_its_reasoning() -> None:
    grade, reasoning = parse_judgement("Score: 9\n" + "why " * 5000)
    assert type(grade) is int
    assert len(reasoning) <= 4000


def test_a_judge_needs_provider_model_and_rubric() -> None:
    assert problems([{"type": "judge"}]) == [
        {"field": "scorers[0].provider", "message": scorers.OPTION_REQUIRED},
        {"field": "scorers[0].model", "message": scorers.OPTION_REQUIRED},
        {"field": "scorers[0].rubric", "message": scorers.OPTION_REQUIRED},
    ]
    bad = {"type": "judge", "provider": "", "model": 4, "rubric": "x" * 4001}
    assert problems([bad]) == [
        {"field": "scorers[0].provider", "message": scorers.USE_NAME},
        {"field": "scorers[0].model", "message": scorers.USE_NAME},
        {"field": "scorers[0].rubric", "message": scorers.USE_RUBRIC},
    ]


# parsing a run's scorers


def test_no_scorers_is_an_empty_list() -> None:
    assert parse_scorers(None) == []
    assert parse_scorers([]) == []


def test_repeated_types_are_named_type_2_type_3() -> None:
    parsed = parse_scorers(
        [
            {"type": "contains"},
            {"type": "regex", "pattern": "a"},
            {"type": "contains", "caseSensitive": False},
            {"type": "regex", "pattern": "b"},
            {"type": "contains"},
        ]
    )
    assert [scorer.name for scorer in parsed] == ["contains", "regex", "contains#2", "regex#2", "contains#3"]


def test_a_scorer_shows_back_its_type_and_options_as_sent() -> None:
    sent = [{"type": "json-schema", "schema": PERSON}, {"type": "exact", "caseSensitive": False}, {"type": "numeric"}]
    assert [scorer.to_json() for scorer in parse_scorers(sent)] == sent


def test_every_problem_is_listed_with_its_field() -> None:
    raw = [
        {"type": "exact", "caseSensitive": "yes", "pattern": "a"},
        "exact",
        {"type": "fuzzy"},
        {"pattern": "a"},
        {"type": "regex"},
        {"type": "numeric", "tolerance": -1},
    ]
    assert problems(raw) == [
        {"field": "scorers[0].pattern", "message": scorers.OPTION_UNKNOWN},
        {"field": "scorers[0].caseSensitive", "message": scorers.USE_BOOLEAN},
        {"field": "scorers[1]", "message": scorers.SCORER_NOT_AN_OBJECT},
        {"field": "scorers[2].type", "message": scorers.TYPE_UNKNOWN},
        {"field": "scorers[3].type", "message": scorers.TYPE_UNKNOWN},
        {"field": "scorers[4].pattern", "message": scorers.OPTION_REQUIRED},
        {"field": "scorers[5].tolerance", "message": scorers.USE_TOLERANCE},
    ]


def test_scorers_must_be_a_list_of_at_most_ten() -> None:
    assert problems({"type": "exact"}) == [{"field": "scorers", "message": scorers.SCORERS_NOT_A_LIST}]
    assert problems([{"type": "exact"}] * 11) == [{"field": "scorers", "message": scorers.TOO_MANY_SCORERS}]
    assert len(parse_scorers([{"type": "exact"}] * 10)) == 10


def test_every_type_is_known_and_every_detail_is_a_sentence() -> None:
    assert scorers.SCORER_TYPES == ("exact", "contains", "regex", "json-schema", "numeric", "judge")
    details = [
        scorers.SCORERS_NOT_A_LIST,
        scorers.TOO_MANY_SCORERS,
        scorers.SCORER_NOT_AN_OBJECT,
        scorers.TYPE_UNKNOWN,
        scorers.OPTION_UNKNOWN,
        scorers.OPTION_REQUIRED,
        scorers.USE_BOOLEAN,
        scorers.USE_TOLERANCE,
        scorers.USE_NAME,
        scorers.USE_RUBRIC,
        scorers.USE_PATTERN,
        scorers.PATTERN_TOO_COMPLEX,
        scorers.PATTERN_INVALID.format(reason="missing )"),
        scorers.USE_SCHEMA,
        scorers.SCHEMA_TOO_LARGE,
        scorers.SCHEMA_INVALID.format(reason="bad type"),
    ]
    assert all(detail[0].isupper() and detail.endswith(".") for detail in details)


def test_a_scorer_made_directly_is_compiled_and_checked_too() -> None:
    made = Scorer(type="regex", options={"pattern": "^ok"}, name="regex")
    assert score(made, "ok then", None).score == 10
    with pytest.raises(ValueError):
        Scorer(type="regex", options={"pattern": "("}, name="regex")
