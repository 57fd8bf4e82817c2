# bench/read.py IDENTIFIER: python-systemd's Reader over the same entries, every field
# materialised (the Reader converts each value as it iterates); prints { n, ms, fields }.
import json, sys, time
from systemd import journal

t0 = time.perf_counter()
r = journal.Reader()
r.add_match(SYSLOG_IDENTIFIER=sys.argv[1])
n = 0
fields = 0
for e in r:
    n += 1
    fields += len(e)
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({"n": n, "ms": ms, "fields": fields}))
