"""The command line: ``commands`` holds the command table and ``main``; each extra command has its own module
(``score``, ``report``, ``generate``, ``export``)."""
