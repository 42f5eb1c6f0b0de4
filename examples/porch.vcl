# Varnish in front of porch (docs/deploy.md). Varnish 6 or 7:
#
#   varnishd -f /etc/varnish/porch.vcl -a :80 -s malloc,256m
#
# porch sends the freshness: Cache-Control "no-cache" by default (store, but ask porch every
# time: a cheap 304 while the file is unchanged) or "max-age=N" with `porch --max-age N`
# (answer from the cache for N seconds). This VCL keeps to it exactly: no grace, so Varnish
# never serves an object past its max-age while it refetches in the background, and a long
# keep, so an expired object is revalidated with If-None-Match / If-Modified-Since instead of
# being fetched whole again. The fleet tests (tests/e2e/test_fleet_varnish.py) run this file,
# with the backend port replaced by the test's.
vcl 4.1;

backend porch {
    .host = "127.0.0.1";
    .port = "8000";
    .probe = {
        .url = "/-/health";
        .interval = 2s;
        .timeout = 1s;
        .window = 3;
        .threshold = 2;
    }
}

sub vcl_recv {
    # Uploads and everything but reads go straight to porch.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # porch's own live URLs are never cached (porch sends no-store on them anyway).
    if (req.url ~ "^/-/(health|metrics)") {
        return (pass);
    }
}

sub vcl_backend_response {
    # Never stale: once max-age is over, the next request waits for porch's answer.
    set beresp.grace = 0s;
    # Keep expired objects a while so the refetch can be a conditional request (304).
    set beresp.keep = 1h;
    # "no-cache" (porch's default) means "store, but revalidate every time": Varnish's
    # built-in rules would not store it at all; store it with (next to) no freshness instead.
    # Not 0s: Varnish's lookup skips objects with a zero ttl (that is how it purges), so they
    # could not be revalidated.
    if (beresp.http.Cache-Control ~ "(?i)^no-cache$") {
        set beresp.ttl = 1ms;
        return (deliver);
    }
}
