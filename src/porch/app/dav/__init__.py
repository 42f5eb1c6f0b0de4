"""WebDAV (RFC 4918 class 1 and 2) on porch's own URLs: methods, locks, properties.

See docs/webdav.md.
"""
