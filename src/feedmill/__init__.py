"""feedmill: per-category RSS 2.0 and Atom feeds from Hexo-style posts."""
