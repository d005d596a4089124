# Rex — GNU conventions: PREFIX and DESTDIR apply to install targets only.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib/rex
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# systemd looks in /usr/lib/systemd whatever PREFIX is, /usr/local/lib/systemd for local units.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
LAUNCHDDIR ?= $(PREFIX)/share/rex/launchd
PYTHON     ?= python3
INSTALL_PYTHON ?= /usr/bin/python3
PIP_DEPS   ?=

VENV    := .venv
VPY     := $(VENV)/bin/python
COMMANDS := $(notdir $(wildcard bin/*))
MANPAGES := $(wildcard man/*.[1-8])
APT_PACKAGES := postgresql postgresql-client mandoc python3-venv systemd rclone ffmpeg redis-server chromium chromium-driver
# Programs whose absence means the packages above are still missing.
NEEDED_PROGRAMS := psql mandoc systemd-analyze rclone ffmpeg redis-server chromium chromedriver

.PHONY: all deps venv test test-fast check demo bench lint man install uninstall clean

all: venv

# System packages: installed with apt-get when something is missing (as root, or via sudo).
deps:
	@missing=""; for p in $(NEEDED_PROGRAMS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing initdb"; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing system packages (missing:$$missing)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

$(VENV)/.done: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.done

# Every test, each property test with its full count of examples (hypothesis profile "ci").
test check: deps venv
	$(VPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The edit-test loop: no test marked slow, few examples per property test (profile "fast").
test-fast: deps venv
	HYPOTHESIS_PROFILE=fast $(VPY) -m pytest -q -p no:cacheprovider -m "not slow" $(PYTEST_ARGS)

demo: deps venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) tools/demo.py $(CURDIR)/demo

bench: deps venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) bench/run.py $(BENCH_ARGS)

lint: deps
	mandoc -T lint -W warning $(MANPAGES)

# rex.5's key list is generated from the one schema.
man: venv
	$(VPY) tools/gen-rex5.py man/rex.5

install:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(LAUNCHDDIR)
	$(PYTHON) -m pip install -q --upgrade --target $(DESTDIR)$(LIBDIR) $(PIP_DEPS) .
	rm -rf $(DESTDIR)$(LIBDIR)/bin
	for c in $(COMMANDS); do \
	  sed '1s|.*|#!$(INSTALL_PYTHON)|' bin/$$c > $(DESTDIR)$(BINDIR)/$$c && chmod 755 $(DESTDIR)$(BINDIR)/$$c; done
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	for u in units/*.service units/*.timer; do \
	  case $$u in *-user.* | units/user/*) continue;; esac; \
	  sed 's|@BINDIR@|$(BINDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	if [ -d units/user ]; then for u in units/user/*; do \
	  sed 's|@BINDIR@|$(BINDIR)|g' $$u > $(DESTDIR)$(USERUNITDIR)/$$(basename $$u); done; fi
	for p in launchd/*.plist; do sed 's|@BINDIR@|$(BINDIR)|g' $$p > $(DESTDIR)$(LAUNCHDDIR)/$$(basename $$p); done

uninstall:
	for c in $(COMMANDS); do rm -f $(DESTDIR)$(BINDIR)/$$c; done
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LAUNCHDDIR)
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$m); done
	for u in units/*.service units/*.timer units/user/*; do [ -e "$$u" ] || continue; \
	  rm -f $(DESTDIR)$(UNITDIR)/$$(basename $$u) $(DESTDIR)$(USERUNITDIR)/$$(basename $$u); done

clean:
	rm -rf $(VENV) build lib/*.egg-info .pytest_cache .hypothesis demo bench/out
