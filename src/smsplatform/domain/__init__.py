"""Pure business rules: numbers and carriers, signatures, templates, sensitive words, segments,
frequency limits and opt-out. No I/O: the api, store and dispatch rooms call these."""
