/* A UDP echo server for tests: busybox has no UDP server applet. Built
   static at test time and bind-mounted into a container. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9999;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0) {
    perror("udp_echo");
    return 1;
  }
  char buf[65536];
  for (;;) {
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr*)&peer, &len);
    if (n >= 0) sendto(fd, buf, n, 0, (struct sockaddr*)&peer, len);
  }
}
