"""Writers of the test references and fixtures in tests/data."""
