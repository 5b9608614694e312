"""Experiments made of many runs: the labelled-data sweep (`asr-bench sweep`).

This layer comes after decode in the pipeline's order (data -> features -> models -> tasks -> decode ->
experiments -> report -> cli): a sweep cell is an acoustic-model training run followed by its decoding,
so a sweep builds on both, while nothing before it knows sweeps exist. It starts cells as ordinary
`asr-bench train` and `asr-bench decode` commands, so every cell is a normal run folder that the report
reads like any other.
"""
