"""The skhep_ml benchmark suite: ``python -m benchmarks <task> [--quick]``.

Each task is a module ``benchmarks/<task>.py`` with a ``run(args)`` function;
results go to ``benchmarks/results/<task>.md`` / ``.json`` / ``*.png``.
"""
