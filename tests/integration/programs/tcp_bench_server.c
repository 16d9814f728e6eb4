/* A TCP server for tools/bench, bind-mounted into a container: on port A it
   reads every byte until the client half-closes, then closes (throughput);
   on port B it writes one byte and closes (connections per second). One
   thread per connection; nothing else in the way of the measurement. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    perror("tcp_bench_server");
    exit(1);
  }
  return fd;
}

static void* sink(void* arg) {
  int c = (int)(long)arg;
  static __thread char buf[1 << 20];
  while (read(c, buf, sizeof(buf)) > 0) {
  }
  close(c);
  return NULL;
}

static void* serve_sink(void* arg) {
  int fd = listen_on((int)(long)arg);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, sink, (void*)(long)c);
    pthread_detach(t);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int sink_port = argc > 1 ? atoi(argv[1]) : 5001;
  int hello_port = argc > 2 ? atoi(argv[2]) : 5002;
  pthread_t t;
  pthread_create(&t, NULL, serve_sink, (void*)(long)sink_port);
  int fd = listen_on(hello_port);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    (void)!write(c, "!", 1);
    close(c);
  }
}
