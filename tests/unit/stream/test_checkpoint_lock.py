from pathlib import Path

import pytest

from binance_cdc.errors import StreamError
from binance_cdc.stream.checkpoint_lock import exclusive_checkpoints


def test_a_second_job_on_the_same_checkpoints_fails_and_names_the_first(tmp_path: Path) -> None:
    with exclusive_checkpoints(tmp_path / "cp"):
        with pytest.raises(StreamError, match=r"another stream job \(pid \d+\).*SPARK_CHECKPOINT_DIR"):
            with exclusive_checkpoints(tmp_path / "cp"):
                pass


def test_the_checkpoints_are_free_again_once_the_job_ends(tmp_path: Path) -> None:
    with exclusive_checkpoints(tmp_path / "cp"):
        pass
    with exclusive_checkpoints(tmp_path / "cp"):
        pass
