"""Benchmarks of kafka-chargeback (`make bench`). Not tests: they measure and print.

Each benchmark is a module here with `main(argv) -> int`, listed in `__main__.BENCHMARKS`.
"""
