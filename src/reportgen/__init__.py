"""reportgen: publications of an evaluation of international cooperation, from its data.

The public surface is small: the command line (:mod:`reportgen.cli`), :func:`reportgen.validate.validate_dataset`
and the error types of :mod:`reportgen.errors`. Everything else is internal, split by stage:
load → validate → aggregate → context → render (HTML) → pdf, orchestrated by :mod:`reportgen.build`.
"""

__version__ = "0.1.0"
