"""cc_engine_text: the text of cc_engine's answers (its one dependency)."""
VERSION = "1.0"


def page(version, revision):
    return "cc_engine %s at revision %s (cc_engine_text %s)\n" % (version, revision, VERSION)
