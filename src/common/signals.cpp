#include "common/signals.hpp"

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace swarm {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) : m_on_signal(std::move(on_signal)) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (pipe2(m_wake_pipe, O_CLOEXEC) != 0) m_wake_pipe[0] = m_wake_pipe[1] = -1;
  m_thread = std::thread([this, sfd] {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {m_wake_pipe[0], POLLIN, 0}};
    while (true) {
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) break;
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo info{};
        if (read(sfd, &info, sizeof info) == sizeof info) m_on_signal(static_cast<int>(info.ssi_signo));
      }
    }
    close(sfd);
  });
}

SignalWatcher::~SignalWatcher() {
  if (m_wake_pipe[1] >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = write(m_wake_pipe[1], &c, 1);
  }
  if (m_thread.joinable()) m_thread.join();
  for (int fd : m_wake_pipe)
    if (fd >= 0) close(fd);
}

}  // namespace swarm
