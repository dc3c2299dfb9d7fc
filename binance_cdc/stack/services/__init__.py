"""One module per local service; each is a :class:`~.base.Service`."""
