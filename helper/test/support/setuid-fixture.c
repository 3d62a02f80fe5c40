/*
 * A caller that tries to pass for root, for helper/test/setuid-caller.test.ts. The test compiles
 * it twice into a root-owned directory: a plain copy (the member runs it) and a setuid-root copy
 * (mode 4755: the member runs it as euid 0). Every answer it gets is printed as one JSON line
 * {"fd":N,"status":S,"body":...}; a line {"ids":[ruid,euid,suid]} says who it was when it asked.
 *
 *   open SOCKET COUNT PROGRAM ASKS  connect COUNT times, then exec PROGRAM (the setuid copy)
 *                                   as "switch ASKS fd..." with the connections inherited
 *   switch ASKS FD...               become uid 0 in full (setresuid(0,0,0)), then ask
 *                                   GET /v1/me ASKS times on every inherited connection
 *   early SOCKET keep|drop          (setuid copy) connect while euid 0 but ruid the member's,
 *                                   then keep those ids or drop to the member's in full, and ask
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int dial(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) die("socket path too long");
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0); /* no SOCK_CLOEXEC: it must survive exec */
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect");
  return fd;
}

static void print_ids(void) {
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0) die("getresuid");
  printf("{\"ids\":[%u,%u,%u]}\n", r, e, s);
  fflush(stdout);
}

/* One keep-alive request; prints the status and the JSON body (hearthd always sends a length). */
static void ask(int fd) {
  static const char request[] = "GET /v1/me HTTP/1.1\r\nHost: hearthd\r\n\r\n";
  if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) die("write");
  char buf[8192];
  size_t have = 0;
  char *body = NULL;
  long length = -1;
  for (;;) {
    if (body != NULL && (long)(have - (size_t)(body - buf)) >= length) break;
    if (have == sizeof buf - 1) die("answer too long");
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n <= 0) die("read");
    have += (size_t)n;
    buf[have] = '\0';
    if (body == NULL) {
      char *end = strstr(buf, "\r\n\r\n");
      if (end == NULL) continue;
      body = end + 4;
      for (char *line = strstr(buf, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "content-length:", 15) == 0) length = strtol(line + 17, NULL, 10);
      if (length < 0) die("no content-length");
    }
  }
  int status = atoi(buf + 9); /* "HTTP/1.1 200 ..." */
  printf("{\"fd\":%d,\"status\":%d,\"body\":%.*s}\n", fd, status, (int)length, body);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc >= 6 && strcmp(argv[1], "open") == 0) {
    int count = atoi(argv[3]);
    char **args = calloc((size_t)count + 5, sizeof *args);
    if (args == NULL) die("calloc");
    args[0] = argv[4];
    args[1] = "switch";
    args[2] = argv[5];
    for (int i = 0; i < count; i++) {
      if (asprintf(&args[3 + i], "%d", dial(argv[2])) < 0) die("asprintf");
    }
    /* At once: hearthd is still accepting and reading these connections as the switch happens. */
    execv(argv[4], args);
    die("execv");
  }
  if (argc >= 3 && strcmp(argv[1], "switch") == 0) {
    if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) die("become root");
    print_ids();
    int asks = atoi(argv[2]);
    for (int round = 0; round < asks; round++)
      for (int i = 3; i < argc; i++) ask(atoi(argv[i]));
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "early") == 0) {
    uid_t member = getuid();
    gid_t group = getgid();
    if (geteuid() != 0) die("not running setuid root");
    int fd = dial(argv[2]);
    if (strcmp(argv[3], "drop") == 0 && (setresgid(group, group, group) != 0 || setresuid(member, member, member) != 0))
      die("drop");
    print_ids();
    ask(fd);
    return 0;
  }
  fprintf(stderr, "usage: see the head of setuid-fixture.c\n");
  return 64;
}
