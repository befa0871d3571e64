<?xml version="1.0" encoding="UTF-8"?>
<!--
  feedmill: shows an RSS 2.0 or Atom feed as a readable page when a browser opens it.
  Feed readers ignore this file. Every value is written with xsl:value-of or an attribute value
  template, so the XSLT processor escapes it; nothing is output unescaped.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:atom="http://www.w3.org/2005/Atom" exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <html lang="{rss/channel/language | atom:feed/@xml:lang}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="rss/channel/title | atom:feed/atom:title"/> (feed)</title>
        <style>
          body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2328; background: #fff; }
          main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
          h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
          .about { color: #57606a; margin: 0 0 1rem; }
          .subscribe { background: #f0f6ff; border: 1px solid #b6d4fe; border-radius: 6px; padding: .75rem 1rem; }
          .subscribe input { width: 100%; box-sizing: border-box; font: 14px monospace; padding: .35rem; }
          article { border-bottom: 1px solid #d0d7de; padding: .9rem 0; }
          article h2 { font-size: 1.1rem; margin: 0; }
          time { color: #57606a; font-size: .875rem; }
          article p { margin: .35rem 0 0; }
        </style>
      </head>
      <body>
        <main>
          <xsl:apply-templates select="rss/channel | atom:feed"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="channel">
    <xsl:call-template name="header">
      <xsl:with-param name="title" select="title"/>
      <xsl:with-param name="about" select="description"/>
      <xsl:with-param name="feed-url" select="atom:link[@rel='self']/@href"/>
      <xsl:with-param name="site-url" select="link"/>
    </xsl:call-template>
    <xsl:for-each select="item">
      <xsl:call-template name="item">
        <xsl:with-param name="title" select="title"/>
        <xsl:with-param name="url" select="link"/>
        <xsl:with-param name="date" select="pubDate"/>
        <xsl:with-param name="summary" select="description"/>
      </xsl:call-template>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="atom:feed">
    <xsl:call-template name="header">
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="about" select="atom:subtitle"/>
      <xsl:with-param name="feed-url" select="atom:link[@rel='self']/@href"/>
      <xsl:with-param name="site-url" select="atom:link[@rel='alternate' or not(@rel)]/@href"/>
    </xsl:call-template>
    <xsl:for-each select="atom:entry">
      <xsl:call-template name="item">
        <xsl:with-param name="title" select="atom:title"/>
        <xsl:with-param name="url" select="atom:link[@rel='alternate' or not(@rel)]/@href"/>
        <!-- RFC 3339: the date part is enough here. -->
        <xsl:with-param name="date" select="substring(atom:published | atom:updated[not(../atom:published)], 1, 10)"/>
        <xsl:with-param name="summary" select="atom:summary"/>
      </xsl:call-template>
    </xsl:for-each>
  </xsl:template>

  <xsl:template name="header">
    <xsl:param name="title"/>
    <xsl:param name="about"/>
    <xsl:param name="feed-url"/>
    <xsl:param name="site-url"/>
    <header>
      <h1 dir="auto"><xsl:value-of select="$title"/></h1>
      <p class="about" dir="auto"><xsl:value-of select="$about"/></p>
      <section class="subscribe">
        <p><strong>This is a web feed.</strong> To follow it, copy this address into your feed reader
          (NetNewsWire, Feedly, Inoreader, Thunderbird, newsboat, ...):</p>
        <input type="text" readonly="readonly" aria-label="Feed address" value="{$feed-url}"/>
        <xsl:if test="starts-with($site-url, 'https://') or starts-with($site-url, 'http://')">
          <p>Or visit the site: <a href="{$site-url}"><xsl:value-of select="$site-url"/></a></p>
        </xsl:if>
      </section>
    </header>
  </xsl:template>

  <xsl:template name="item">
    <xsl:param name="title"/>
    <xsl:param name="url"/>
    <xsl:param name="date"/>
    <xsl:param name="summary"/>
    <article>
      <h2 dir="auto">
        <xsl:choose>
          <!-- Only web links become links: a javascript: URL in a feed must not run here. -->
          <xsl:when test="starts-with($url, 'https://') or starts-with($url, 'http://')">
            <a href="{$url}"><xsl:value-of select="$title"/></a>
          </xsl:when>
          <xsl:otherwise><xsl:value-of select="$title"/></xsl:otherwise>
        </xsl:choose>
      </h2>
      <time><xsl:value-of select="$date"/></time>
      <p dir="auto"><xsl:value-of select="$summary"/></p>
    </article>
  </xsl:template>
</xsl:stylesheet>
