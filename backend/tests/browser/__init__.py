"""Browser tests of the taskpane; a package so its conftest does not shadow the top-level one."""
