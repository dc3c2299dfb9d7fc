from binance_cdc.stream.sessions import CLOSE_TIMEOUT_OPTION, ConnectorSessions


def test_a_renewal_selects_a_different_connection_configuration() -> None:
    sessions = ConnectorSessions()
    before = sessions.options()
    sessions.renew(sessions.generation, "Control channel not available")
    assert sessions.generation == 1
    assert sessions.options()[CLOSE_TIMEOUT_OPTION] != before[CLOSE_TIMEOUT_OPTION]


def test_queries_failing_in_the_same_outage_renew_once() -> None:
    sessions = ConnectorSessions()
    seen = sessions.generation  # two batches started on generation 0
    sessions.renew(seen, "first query")
    sessions.renew(seen, "second query, same outage")
    assert sessions.generation == 1
    sessions.renew(sessions.generation, "a later outage")
    assert sessions.generation == 2
