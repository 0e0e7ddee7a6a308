"""Call-centre and request metrics: what the centre is judged by, counted exactly.

Every figure is defined once, in ``docs/metrics.md`` and in the docstring of the function that
computes it; the API, the console, the exports and the daily report all call these functions.
"""
