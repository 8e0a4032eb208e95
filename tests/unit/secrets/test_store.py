"""SecretStore: copies out, zeroes on remove/replace/close, never shows a value."""

from __future__ import annotations

import asyncio
import gc
import pickle
import threading
import traceback

import pytest

from github_runner.secrets import Masker, SecretStore, SecretStoreClosed, zeroise

VALUE = "correct-horse-battery-staple"


def test_copy_on_read_and_case_insensitive_names() -> None:
    store = SecretStore()
    store.set("Deploy_Key", VALUE)
    copy = store.reveal_bytes("DEPLOY_KEY")
    copy[:] = b"x" * len(copy)
    assert store.get("deploy_key") == VALUE
    assert store.names() == ["Deploy_Key"] and "DEPLOY_KEY" in store
    zeroise(copy)
    assert copy == bytearray(len(copy))


def test_remove_replace_and_close_zeroise_the_buffers() -> None:
    store = SecretStore()
    store.set("A", VALUE)
    store.set("B", VALUE)
    buf_a = store._data["A"]
    store.set("A", "new-value-for-a")
    assert buf_a == bytearray(len(VALUE))  # the replaced buffer, wiped in place
    buf_b = store._data["B"]
    store.remove("b")
    assert buf_b == bytearray(len(VALUE)) and "B" not in store
    buf_a = store._data["A"]
    store.close()
    assert buf_a == bytearray(len("new-value-for-a"))
    with pytest.raises(SecretStoreClosed):
        store.get("A")


def test_garbage_collected_store_is_zeroised() -> None:
    store = SecretStore()
    store.set("A", VALUE)
    buf = store._data["A"]
    del store
    gc.collect()
    assert buf == bytearray(len(VALUE))


def test_never_in_repr_pickle_or_traceback() -> None:
    store = SecretStore(Masker())
    store.set("TOKEN", VALUE)
    assert VALUE not in repr(store) and VALUE not in repr(store.__dict__.get("_masker"))
    with pytest.raises(TypeError):
        pickle.dumps(store)
    with pytest.raises(TypeError):
        pickle.dumps(Masker())
    try:
        holder = store  # noqa: F841 - a local a verbose traceback would render
        raise RuntimeError("boom")
    except RuntimeError as exc:
        rendered = "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    assert VALUE not in rendered and "<SecretStore 1 secrets>" in rendered


def test_values_are_registered_with_the_masker_naming_the_source(caplog: pytest.LogCaptureFixture) -> None:
    masker = Masker()
    store = SecretStore(masker)
    assert store.set("TOKEN", VALUE, source="--secret-file .secrets:2")
    assert masker.mask(f"x{VALUE}x") == "x***x"
    assert store.set("SHORT", "q7z") is False
    assert "secret SHORT" in caplog.text and "q7z" not in caplog.text


def test_threads_and_tasks_share_one_store() -> None:
    store = SecretStore(Masker())
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(200):
                store.set(f"S{n}_{i % 5}", f"value-{n}-{i}-padding")
                assert store.get(f"S{n}_{i % 5}").startswith(f"value-{n}-")
                store.as_context()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()

    async def tasks() -> None:
        async def one(n: int) -> None:
            for i in range(50):
                store.set(f"T{n}", f"task-{n}-{i}-padding")
                await asyncio.sleep(0)
                assert store.get(f"T{n}").startswith(f"task-{n}-")

        await asyncio.gather(*(one(n) for n in range(8)))

    asyncio.run(tasks())
    for t in threads:
        t.join()
    assert not errors
    assert len(store) == 4 * 5 + 8


def test_store_is_a_read_only_mapping_copied_on_read() -> None:
    store = SecretStore()
    store.set("Token", VALUE)
    assert store["TOKEN"] == VALUE and dict(store) == {"Token": VALUE} and list(store) == ["Token"]
    with pytest.raises(KeyError):
        store["missing"]
    assert not hasattr(store, "__setitem__")


def test_attach_registers_once_with_each_source_including_protected(caplog: pytest.LogCaptureFixture) -> None:
    store = SecretStore()
    store.set("TOKEN", VALUE, source="secret TOKEN (-s)")
    store.set("SHORT", "q7z", source="secret SHORT (--secret-file)")
    store.protect("vault-login-token-1234", source="vault token")
    assert "vault-login-token-1234" not in dict(store).values() and len(store) == 2
    masker = Masker()
    store.attach(masker)
    store.attach(masker)  # idempotent: no second round of warnings
    assert masker.mask(f"{VALUE} vault-login-token-1234") == "*** ***"
    assert caplog.text.count("secret SHORT (--secret-file)") == 1 and "q7z" not in caplog.text
    store.set("LATER", "later-value-5678")  # after attaching: registered at once
    assert masker.mask("later-value-5678") == "***"


def test_copy_is_independent_and_zeroised_on_its_own() -> None:
    masker = Masker()
    store = SecretStore(masker)
    store.set("A", VALUE)
    twin = store.copy()
    assert twin.masker is masker and twin["a"] == VALUE
    buf = twin._data["A"]
    twin.close()
    assert buf == bytearray(len(VALUE)) and store["A"] == VALUE and not store.closed


def test_hold_moves_a_dict_into_a_store_without_warning_for_unset() -> None:
    from github_runner.secrets import hold

    masker = Masker()
    given = {"TOKEN": VALUE, "UNSET": ""}
    store = hold(given, masker)
    assert given == {} and store["UNSET"] == "" and store.masker is masker
    assert masker.mask(VALUE) == "***"
    assert hold(store, masker) is store
