-- 8 MiB POST body (wrk sets Content-Length from wrk.body).
wrk.method = "POST"
wrk.body = string.rep("x", 8 * 1024 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
