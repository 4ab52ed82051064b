"""Operations: health, the worker clusters, catching up after a crash, CSP and caching headers."""
