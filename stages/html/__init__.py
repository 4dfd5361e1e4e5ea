"""The `html` stage: web pages to main-content text.

`extractors` turns HTML into text (trafilatura for quality, resiliparse for speed); `extract` runs one
on each page under size and time limits; `boilerplate` removes the notice, menu and repeated lines
extractors keep; `options` is the config.
"""

from stages.html.options import HtmlOptions

__all__ = ["HtmlOptions"]
