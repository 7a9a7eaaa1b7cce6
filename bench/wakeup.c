// The price of a wake-up: two threads hand a token back and forth through
// eventfds, each hop waking a thread that sleeps in read(2), as nuwsgi's
// event loop and a --threads core do for every request (docs/architecture.md,
// "Threads: the price of a wake-up").
//
//   gcc -O2 -pthread bench/wakeup.c -o /tmp/wakeup
//   /tmp/wakeup 200000                 # the threads on whichever CPUs the kernel picks
//   taskset -c 0 /tmp/wakeup 200000    # both on one CPU
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int to_peer, to_main;
static long rounds;

static void *peer(void *unused) {
  (void)unused;
  uint64_t v;
  for (long i = 0; i < rounds; i++) {
    if (read(to_peer, &v, 8) != 8) return NULL;
    v = 1;
    if (write(to_main, &v, 8) != 8) return NULL;
  }
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? atol(argv[1]) : 200000;
  to_peer = eventfd(0, 0);
  to_main = eventfd(0, 0);
  pthread_t t;
  pthread_create(&t, NULL, peer, NULL);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t v;
  for (long i = 0; i < rounds; i++) {
    v = 1;
    if (write(to_peer, &v, 8) != 8 || read(to_main, &v, 8) != 8) return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  pthread_join(t, NULL);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  double wall = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
  printf("%ld round trips (2 wake-ups each): CPU %.2f us, wall %.2f us per round trip; %ld voluntary switches\n",
         rounds, cpu / rounds, wall / rounds, ru.ru_nvcsw);
  return 0;
}
