"""Page templates: the same article wrapped in the boilerplate real sites put around it.

Each template renders navigation, a cookie banner, a sidebar, comments and a footer around the
article in its own markup style (semantic HTML5, div soup, legacy tables), so an extractor has to
find the main content rather than a fixed tag.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

from pipeline.sample.prose import Prose

COOKIE_BANNERS = [
    "We use cookies to improve your experience on our site. By continuing to browse you agree to our "
    "use of cookies. Accept all cookies",
    "This website uses cookies and similar technologies for analytics and personalised advertising. "
    "Manage your privacy settings or accept.",
]
FOOTER_LINES = [
    "Privacy Policy",
    "Terms of Use",
    "Cookie Settings",
    "Contact us",
    "Imprint",
    "All rights reserved.",
]
NAV_ITEMS = ["Home", "News", "Politics", "Business", "Sport", "Culture", "Science", "Opinion", "Weather"]


@dataclass
class Article:
    title: str
    author: str
    date: str
    paragraphs: list[str]
    language: str = "en"
    comments: list[str] = field(default_factory=list)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _links(rng: random.Random, prose: Prose, count: int) -> list[str]:
    return [f'<a href="/{rng.randint(1000, 99999)}">{_esc(prose.link_text())}</a>' for _ in range(count)]


def render_semantic(article: Article, site: str, rng: random.Random, prose: Prose, charset: str) -> str:
    nav = "".join(f'<li><a href="/{item.lower()}">{item}</a></li>' for item in NAV_ITEMS)
    related = "".join(f"<li>{link}</li>" for link in _links(rng, prose, 5))
    body = "".join(f"<p>{_esc(p)}</p>" for p in article.paragraphs)
    comments = "".join(
        f'<div class="comment"><span class="user">user{rng.randint(1, 999)}</span><p>{_esc(c)}</p></div>'
        for c in article.comments
    )
    footer = " | ".join(f'<a href="/{i}">{line}</a>' for i, line in enumerate(FOOTER_LINES))
    return f"""<!DOCTYPE html>
<html lang="{article.language}"><head><meta charset="{charset}"><title>{_esc(article.title)} | {site}</title>
<script>window.dataLayer=[];function track(){{return 1}}</script></head>
<body>
<div id="cookie-banner" class="consent"><p>{rng.choice(COOKIE_BANNERS)}</p><button>Accept</button></div>
<header><a class="logo" href="/">{site}</a><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{_esc(article.title)}</h1>
<p class="byline">By {_esc(article.author)} | {article.date}</p>
{body}
</article>
<section class="comments"><h2>Comments</h2>{comments}</section>
</main>
<aside><h3>Related articles</h3><ul>{related}</ul></aside>
<footer><p>{footer}</p><p>&copy; 2024 {site}. All rights reserved.</p></footer>
</body></html>"""


def render_div_soup(article: Article, site: str, rng: random.Random, prose: Prose, charset: str) -> str:
    nav = " ".join(f'<a class="menu-item" href="/{item.lower()}">{item}</a>' for item in NAV_ITEMS)
    body = "\n".join(f'<div class="para">{_esc(p)}</div>' for p in article.paragraphs)
    most_read = "<br>".join(_links(rng, prose, 6))
    comments = "".join(f'<div class="cmt">{_esc(c)}</div>' for c in article.comments)
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{_esc(article.title)}</title><style>.menu-item{{padding:4px}}</style></head>
<body><div class="wrapper">
<div class="top-bar">{nav}</div>
<div class="gdpr-notice">{rng.choice(COOKIE_BANNERS)} <a href="/privacy">Privacy Policy</a></div>
<div class="content-area"><div class="post">
<div class="post-title"><h2>{_esc(article.title)}</h2></div>
<div class="post-meta">Posted on {article.date} by {_esc(article.author)}</div>
<div class="post-body">
{body}
</div>
<div class="share">Share this: Facebook Twitter Email</div>
</div>
<div class="comment-list">{comments}</div></div>
<div class="sidebar"><div class="widget"><b>Most read</b><br>{most_read}</div>
<div class="widget">Subscribe to our newsletter! Enter your email address</div></div>
<div class="site-footer">{" - ".join(FOOTER_LINES)}<br>Powered by BlogEngine</div>
</div></body></html>"""


def render_table_layout(article: Article, site: str, rng: random.Random, prose: Prose, charset: str) -> str:
    nav = "".join(f'<tr><td><a href="/{item.lower()}.html">{item}</a></td></tr>' for item in NAV_ITEMS)
    body = "".join(f"<p>{_esc(p)}</p>\n" for p in article.paragraphs)
    links = "".join(f"<li>{link}</li>" for link in _links(rng, prose, 4))
    return f"""<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset={charset}">
<TITLE>{_esc(article.title)}</TITLE></HEAD>
<BODY BGCOLOR="#FFFFFF">
<TABLE WIDTH="100%"><TR><TD COLSPAN="2"><FONT SIZE="+2">{site}</FONT></TD></TR>
<TR><TD VALIGN="top" WIDTH="150"><TABLE>{nav}</TABLE><ul>{links}</ul></TD>
<TD VALIGN="top">
<H1>{_esc(article.title)}</H1>
<I>{_esc(article.author)}, {article.date}</I>
{body}
</TD></TR>
<TR><TD COLSPAN="2"><SMALL>{" | ".join(FOOTER_LINES)}. Please enable JavaScript to view the comments.</SMALL></TD></TR>
</TABLE></BODY></HTML>"""


TEMPLATES = {
    "semantic": render_semantic,
    "div_soup": render_div_soup,
    "table_layout": render_table_layout,
}
