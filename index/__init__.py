"""Document side of the service: load, chunk, embed, store and keyword-index articles."""
