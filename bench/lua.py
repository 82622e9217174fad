"""wrk Lua scripts: requests whose path or body carry a number no other request had."""

from pathlib import Path

_NUMBERED = """-- written by bench/lua.py: request n of a run, n never repeated across its threads
{preamble}
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  n = tonumber(args[1]) + tid
  step = tonumber(args[2])
end
function request()
  n = n + step
  {body}
end
"""


def numbered(path: Path, body: str, preamble: str = "") -> Path:
    """A script whose ``request()`` runs ``body`` (Lua returning ``wrk.format(...)``) with the
    request's number in ``n``; wrk passes the first number and the thread count as arguments
    (``compare.alternate`` does). ``preamble`` (tables the body reads) is run once per thread."""
    path.write_text(_NUMBERED.format(preamble=preamble, body=body))
    return path
