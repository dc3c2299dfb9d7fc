import base64

from binance_cdc.stack.services.kafka import new_cluster_id


def test_cluster_ids_are_16_bytes_and_never_read_as_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5000)]  # about 78 would start with "-" by chance
    assert not any(i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
