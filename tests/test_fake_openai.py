"""The fake OpenAI server speaks the protocol well enough for the official `openai` client,
including the faults (rate limits, server errors, hangs, broken bodies) that tests script."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from fake_openai import FakeOpenAI, Fault

QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "what is the capital of France"},
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def ask(fake: FakeOpenAI, model: str = "echo", max_retries: int = 0, timeout: float = 5.0) -> ChatCompletion:
    with openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=max_retries, timeout=timeout) as client:
        return client.chat.completions.create(model=model, messages=QUESTION)


def raw(fake: FakeOpenAI, path: str, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(fake.base_url + path, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_a_completion_echoes_the_last_user_message_and_counts_words_as_tokens(fake: FakeOpenAI) -> None:
    completion = ask(fake)
    assert completion.object == "chat.completion"
    assert completion.model == "echo"
    assert completion.id.startswith("chatcmpl-")
    [choice] = completion.choices
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "what is the capital of France"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 9  # "You are terse." and the question
    assert completion.usage.completion_tokens == 6
    assert completion.usage.total_tokens == 15


@pytest.mark.parametrize(
    ("model", "content"),
    [
        ("echo", "what is the capital of France"),
        ("some-unknown-model", "what is the capital of France"),
        ("upper", "WHAT IS THE CAPITAL OF FRANCE"),
        ("reverse", "France of capital the is what"),
        ("judge", "Score: 7\nThe answer is mostly right."),
        ("json", '{"answer":"what is the capital of France"}'),
    ],
)
def test_each_model_answers_deterministically(fake: FakeOpenAI, model: str, content: str) -> None:
    assert ask(fake, model).choices[0].message.content == content
    assert fake.answer(model, [dict(message) for message in QUESTION]) == content


def test_a_test_can_override_a_model_with_a_function_or_a_string(fake: FakeOpenAI) -> None:
    fake.answers["counter"] = lambda messages: f"{len(messages)} messages"
    fake.answers["fixed"] = "Always this."
    assert ask(fake, "counter").choices[0].message.content == "2 messages"
    assert ask(fake, "fixed").choices[0].message.content == "Always this."
    assert ask(fake, "fixed").usage == openai.types.CompletionUsage(
        prompt_tokens=9, completion_tokens=2, total_tokens=11
    )


def test_a_scripted_429_is_retried_after_its_retry_after(fake: FakeOpenAI) -> None:
    fake.script("echo", Fault.status(429, retry_after=1))
    completion = ask(fake, max_retries=2)
    assert completion.choices[0].message.content == "what is the capital of France"
    first, second = fake.requests
    assert first.fault == Fault.status(429, retry_after=1)
    assert second.fault is None
    assert second.arrived_at - first.arrived_at >= 0.95


def test_a_429_without_retries_is_a_rate_limit_error_with_openais_error_body(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.status(429, retry_after=3))
    with pytest.raises(openai.RateLimitError) as raised:
        ask(fake)
    assert raised.value.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    assert raised.value.code == "rate_limit_exceeded"
    assert isinstance(raised.value.body, dict) and raised.value.body["type"] == "requests"


def test_a_500_is_retried_and_then_succeeds(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.status(500))
    assert ask(fake, max_retries=2).choices[0].message.content == "what is the capital of France"
    assert fake.calls() == 2


def test_a_400_is_not_retried_and_raises_bad_request(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.status(400))
    with pytest.raises(openai.BadRequestError) as raised:
        ask(fake, max_retries=2)
    assert raised.value.type == "invalid_request_error"
    assert fake.calls() == 1


def test_a_hang_longer_than_the_client_timeout_raises_a_timeout(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.hang(1.0))
    with pytest.raises(openai.APITimeoutError):
        ask(fake, max_retries=0, timeout=0.3)
    assert fake.calls() == 1


def test_a_hang_shorter_than_the_client_timeout_answers_late_but_normally(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.hang(0.2))
    assert ask(fake, timeout=2).choices[0].message.content == "what is the capital of France"


def test_a_malformed_body_raises_a_json_decode_error_and_is_not_retried(fake: FakeOpenAI) -> None:
    # The client parses the body after its retry loop, and does not wrap the decoder's error in an APIError.
    fake.script(None, Fault.malformed())
    with pytest.raises(json.JSONDecodeError):
        ask(fake, max_retries=2)
    assert fake.calls() == 1


def test_empty_choices_are_accepted_by_the_client_and_left_for_the_caller(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.empty_choices())
    assert ask(fake).choices == []


def test_faults_for_a_model_come_before_faults_for_any_model_and_are_consumed_in_order(fake: FakeOpenAI) -> None:
    fake.script(None, Fault.status(503))
    fake.script("judge", Fault.status(400), Fault.empty_choices())
    with pytest.raises(openai.BadRequestError):
        ask(fake, "judge")
    assert ask(fake, "judge").choices == []
    with pytest.raises(openai.InternalServerError):
        ask(fake, "judge")
    assert ask(fake, "judge").choices[0].message.content == "Score: 7\nThe answer is mostly right."
    assert fake.pending_faults("judge") == fake.pending_faults() == 0


def test_four_simultaneous_calls_are_handled_at_once() -> None:
    with FakeOpenAI(delay=0.3) as fake:
        callers = [threading.Thread(target=ask, args=(fake,)) for _ in range(4)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        assert fake.calls() == 4
        assert fake.max_concurrent == 4


def test_the_delay_holds_every_answer(fake: FakeOpenAI) -> None:
    fake.delay = 0.2
    ask(fake)
    ask(fake)
    first, second = fake.requests
    assert second.arrived_at - first.arrived_at >= 0.2
    assert fake.max_concurrent == 1


def test_each_request_is_recorded_with_its_parameters_and_authorization(fake: FakeOpenAI) -> None:
    with openai.OpenAI(base_url=fake.base_url, api_key="sk-secret", max_retries=0) as client:
        client.chat.completions.create(model="upper", messages=QUESTION, temperature=0.2, max_tokens=50)
    [request] = fake.requests
    assert request.model == "upper"
    assert request.messages == QUESTION
    assert request.params == {"temperature": 0.2, "max_tokens": 50}
    assert request.authorization == "Bearer sk-secret"
    assert fake.calls("upper") == 1 and fake.calls("echo") == 0


def test_models_are_listed(fake: FakeOpenAI) -> None:
    with openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0) as client:
        names = {model.id for model in client.models.list()}
    assert names == {"echo", "upper", "reverse", "judge", "json"}


def test_unknown_paths_are_404_and_broken_requests_400_with_json_errors(fake: FakeOpenAI) -> None:
    assert raw(fake, "/nothing-here")[0] == 404
    assert raw(fake, "/embeddings", b"{}")[0] == 404
    status, body = raw(fake, "/chat/completions", b"{not json")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert raw(fake, "/chat/completions", b'{"model": "echo"}')[0] == 400
    assert fake.calls() == 0


def test_the_server_can_be_started_and_stopped_without_a_with_block() -> None:
    fake = FakeOpenAI().start()
    try:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert ask(fake).choices[0].message.content == "what is the capital of France"
    finally:
        fake.stop()
    with pytest.raises(RuntimeError):
        fake.base_url
