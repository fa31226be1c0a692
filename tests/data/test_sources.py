import pytest
import seqio

from mathft_jax.data.sources import RecordsDataSource


def _rows(split):
    return [{"inputs": f"{split}{i}", "targets": str(i)} for i in range(10)]


def _values(ds):
    return [ex["inputs"].numpy().decode() for ex in ds]


def test_lazy_sharded_and_seeded():
    calls = []
    src = RecordsDataSource(lambda s: calls.append(s) or _rows(s), ["train", "test"])
    assert not calls
    assert _values(src.get_dataset("test", shuffle=False)) == [f"test{i}" for i in range(10)]
    shards = [_values(src.get_dataset("train", shuffle=False,
                                      shard_info=seqio.ShardInfo(i, 3))) for i in range(3)]
    assert sorted(sum(shards, [])) == sorted(f"train{i}" for i in range(10))
    assert shards[0] == ["train0", "train3", "train6", "train9"]
    a = _values(src.get_dataset("train", shuffle=True, seed=5))
    assert a == _values(src.get_dataset("train", shuffle=True, seed=5))
    assert sorted(a) == sorted(f"train{i}" for i in range(10))
    assert calls == ["test", "train"]  # each split read once
    assert src.num_input_examples("train") == 10


def test_bad_records_and_splits():
    src = RecordsDataSource(lambda s: [{"a": "x"}, {"a": 3}], ["train"])
    with pytest.raises(ValueError, match="record 1"):
        src.get_dataset("train")
    with pytest.raises(ValueError, match="unknown split"):
        src.get_dataset("dev")
    with pytest.raises(ValueError, match="no records"):
        RecordsDataSource(lambda s: [], ["train"]).get_dataset("train")


def test_a_key_reads_the_records_again_under_another_value():
    calls, options = [], {"size": 2}

    def records(split):
        calls.append(split)
        return [{"inputs": str(k)} for k in range(options["size"])]

    src = RecordsDataSource(records, ["train"], key=lambda: options["size"])
    assert len(src.records("train")) == 2 and len(src.records("train")) == 2
    assert calls == ["train"]  # read once per value
    options["size"] = 3
    assert len(src.records("train")) == 3 and calls == ["train", "train"]
    options["size"] = 2
    assert len(src.records("train")) == 2 and len(calls) == 2  # the earlier value's, kept
