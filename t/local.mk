# make check: the C unit tests (TAP), then the Apache::Test suites against a
# real httpd that loads the modules just built.
TEST_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh

check_PROGRAMS += t/unit/test_common
TESTS += t/unit/test_common
t_unit_test_common_SOURCES = t/unit/tap.h t/unit/test_common.c
t_unit_test_common_LDADD = common/libmcp.la $(APR_LIBS) $(APU_LIBS)

check_PROGRAMS += t/unit/test_jws
TESTS += t/unit/test_jws
t_unit_test_jws_SOURCES = t/unit/tap.h t/unit/test_jws.c
t_unit_test_jws_LDADD = common/libmcp.la $(OPENSSL_LIBS) $(APR_LIBS) $(APU_LIBS)

check_PROGRAMS += t/unit/test_client
TESTS += t/unit/test_client
t_unit_test_client_SOURCES = t/unit/tap.h t/unit/test_client.c
t_unit_test_client_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
t_unit_test_client_LDADD = client/libmcpc.la common/libmcp.la $(CURL_LIBS) $(OPENSSL_LIBS) $(APR_LIBS) $(APU_LIBS)

EXTRA_DIST += t/TEST.PL.in t/bin/httpd.in t/httpd-base.conf.in

# The suites' own files, without anything Apache::Test or npm generated.
dist-hook: dist-tests
dist-tests:
	mkdir -p $(distdir)/t/conf
	cp -p $(srcdir)/t/*.t $(distdir)/t/
	cp -p $(srcdir)/t/conf/*.in $(distdir)/t/conf/
	for d in lib htdocs cgi-bin keys interop cluster; do \
	  if test -d "$(srcdir)/t/$$d"; then \
	    (cd $(srcdir)/t && find $$d -name node_modules -prune -o -type f -print) | \
	    while read f; do mkdir -p "$(distdir)/t/`dirname $$f`"; cp -p "$(srcdir)/t/$$f" "$(distdir)/t/$$f"; done; \
	  fi; \
	done

# Apache::Test writes its configuration and logs into t/, so a VPATH build
# (make distcheck) runs the suites from a copy of t/ in the build tree.
APACHE_TEST = $(PERL) t/TEST.PL

check-local: check-apache
check-apache: all
if HAVE_APACHE_TEST
	@if test "$(srcdir)" != "."; then \
	  for f in $(srcdir)/t/*.t; do cp -p "$$f" t/; done; \
	  for d in conf lib htdocs cgi-bin keys; do \
	    if test -d "$(srcdir)/t/$$d"; then mkdir -p t/$$d && cp -pR $(srcdir)/t/$$d/. t/$$d/ && chmod -R u+w t/$$d; fi; \
	  done; \
	fi
	$(APACHE_TEST) -clean >/dev/null 2>&1 || true
	$(APACHE_TEST) $(APACHE_TEST_FLAGS)
else
	@echo "Apache::Test is not installed (Debian: libapache2-mod-perl2); skipping the httpd suites"
endif

clean-local:
	-test ! -f t/TEST.PL || $(APACHE_TEST) -clean >/dev/null 2>&1
	-rm -rf t/state t/logs
	-if test "$(srcdir)" != "."; then rm -rf t/*.t t/conf t/lib t/htdocs t/cgi-bin t/keys; fi

.PHONY: check-apache dist-tests
