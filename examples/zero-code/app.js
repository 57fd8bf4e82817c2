// An ordinary Node HTTP app: nothing in it knows about systemd. libsystemd/auto, preloaded by the
// unit's ExecStart=, gives it socket activation, readiness, the watchdog, a graceful stop and the
// journal.
const http = require('node:http');

const server = http.createServer((req, res) => {
  if (req.url === '/slow') return void setTimeout(() => res.end('slow done\n'), 2000);
  if (req.url === '/oops') console.error('something failed: %s', 'disk full');
  res.end(`hello from ${process.pid}\n`);
});
server.listen(process.env.PORT ?? 3000, () => console.log(`listening on ${JSON.stringify(server.address())}`));
