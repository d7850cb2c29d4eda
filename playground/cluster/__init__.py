"""A local cluster on loopback: child processes started from argv + environment and waited for (`processes`),
nginx in front of them with a generated configuration (`nginx`), skinbot's webhook replicas and reminder worker
as such processes (`replicas`), and the whole put together (`stack`)."""
