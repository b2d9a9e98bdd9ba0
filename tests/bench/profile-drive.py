# profile-drive.py SOCKET KIND COUNT: keep-alive GETs (kinds: failed, newest, get) that drive copyjobd
# while it runs under callgrind or strace (tests/bench/profile.sh). Not a benchmark: one connection, Python.
import socket, sys, json, urllib.parse
sock_path, kind, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sock_path)
buf = b''
def get(path):
    global buf
    s.sendall(f'GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n'.encode())
    while b'\r\n\r\n' not in buf: buf += s.recv(1 << 20)
    head, rest = buf.split(b'\r\n\r\n', 1)
    clen = int([l.split(b':')[1] for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:')][0])
    while len(rest) < clen: rest += s.recv(1 << 20)
    body, buf = rest[:clen], rest[clen:]
    return body
arns = [j['jobArn'] for j in json.loads(get('/model-copy-jobs?maxResults=200'))['modelCopyJobSummaries']]
paths = {
  'failed': ['/model-copy-jobs?maxResults=100&statusEquals=Failed&creationTimeAfter=2025-04-01T00%3A00%3A00Z&creationTimeBefore=2025-05-01T00%3A00%3A00Z'],
  'newest': ['/model-copy-jobs?maxResults=100'],
  'get': ['/model-copy-jobs/' + urllib.parse.quote(a, safe='') for a in arns],
}[kind]
for i in range(count): get(paths[i % len(paths)])
print('done', count)
