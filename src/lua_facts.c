/*
 * lua_facts.c: the ccchef.facts module. facts.collect() probes this machine
 * (names, OS, hardware, addresses, init system, package manager) and returns
 * a plain table; `ccchef facts` prints it and recipes see it in `node`.
 * Probing only reads: nothing here changes the machine.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <lauxlib.h>

#include "host.h"

static void set_string(lua_State *L, const char *key, const char *value)
{
	lua_pushstring(L, value);
	lua_setfield(L, -2, key);
}

/* /etc/os-release: KEY=value or KEY="value" lines. */
static void os_release(lua_State *L)
{
	FILE *f = fopen("/etc/os-release", "r");
	if (f == NULL)
		f = fopen("/usr/lib/os-release", "r");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		char *val = eq + 1;
		val[strcspn(val, "\n")] = '\0';
		size_t n = strlen(val);
		if (n >= 2 && (val[0] == '"' || val[0] == '\'') && val[n - 1] == val[0]) {
			val[n - 1] = '\0';
			val++;
		}
		if (strcmp(line, "ID") == 0)
			set_string(L, "platform", val);
		else if (strcmp(line, "VERSION_ID") == 0)
			set_string(L, "platform_version", val);
		else if (strcmp(line, "ID_LIKE") == 0)
			set_string(L, "platform_family", val);
		else if (strcmp(line, "PRETTY_NAME") == 0)
			set_string(L, "platform_name", val);
		else if (strcmp(line, "VERSION_CODENAME") == 0)
			set_string(L, "platform_codename", val);
	}
	fclose(f);
}

static void names(lua_State *L)
{
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	set_string(L, "hostname", host);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME};
	struct addrinfo *ai = NULL;
	const char *fqdn = host;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname)
		fqdn = ai->ai_canonname;
	set_string(L, "fqdn", fqdn);
	const char *dot = strchr(fqdn, '.');
	set_string(L, "domain", dot ? dot + 1 : "");
	if (ai)
		freeaddrinfo(ai);
}

/* ip_addresses = { {interface=, family=, address=}, ... }; ipaddress is the
 * first IPv4 address not on loopback, as Chef's node['ipaddress']. */
static void addresses(lua_State *L)
{
	struct ifaddrs *ifs;
	lua_newtable(L);
	if (getifaddrs(&ifs) != 0) {
		lua_setfield(L, -2, "ip_addresses");
		return;
	}
	int n = 0;
	const char *primary = NULL;
	char primary_buf[INET6_ADDRSTRLEN] = "";
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		int fam = i->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		char buf[INET6_ADDRSTRLEN];
		const void *a = fam == AF_INET
			? (const void *)&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr;
		if (inet_ntop(fam, a, buf, sizeof buf) == NULL)
			continue;
		lua_createtable(L, 0, 3);
		set_string(L, "interface", i->ifa_name);
		set_string(L, "family", fam == AF_INET ? "inet" : "inet6");
		set_string(L, "address", buf);
		lua_rawseti(L, -2, ++n);
		if (primary == NULL && fam == AF_INET && !(i->ifa_flags & IFF_LOOPBACK)) {
			snprintf(primary_buf, sizeof primary_buf, "%s", buf);
			primary = primary_buf;
		}
	}
	freeifaddrs(ifs);
	lua_setfield(L, -2, "ip_addresses");
	set_string(L, "ipaddress", primary ? primary : "127.0.0.1");
}

static void hardware(lua_State *L)
{
	struct utsname u;
	if (uname(&u) == 0) {
		char os[sizeof u.sysname];
		size_t k;
		for (k = 0; u.sysname[k] && k < sizeof os - 1; k++)
			os[k] = (char)tolower((unsigned char)u.sysname[k]);
		os[k] = '\0';
		set_string(L, "os", os);
		set_string(L, "kernel", u.release);
		set_string(L, "arch", u.machine);
	}
	lua_pushinteger(L, sysconf(_SC_NPROCESSORS_ONLN));
	lua_setfield(L, -2, "cpus");
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, (lua_Integer)si.totalram * si.mem_unit);
		lua_setfield(L, -2, "total");
		lua_pushinteger(L, (lua_Integer)si.totalram * si.mem_unit / (1024 * 1024));
		lua_setfield(L, -2, "total_mb");
		lua_setfield(L, -2, "memory");
	}
}

/* The init system that runs now, not merely the one installed: systemd
 * creates /run/systemd/system only when it is PID 1. */
static void system_tools(lua_State *L)
{
	set_string(L, "init", access("/run/systemd/system", F_OK) == 0 ? "systemd" : "sysvinit");
	const char *pm = "none";
	if (access("/usr/bin/apt-get", X_OK) == 0)
		pm = "apt";
	else if (access("/usr/bin/dnf", X_OK) == 0)
		pm = "dnf";
	else if (access("/sbin/apk", X_OK) == 0)
		pm = "apk";
	set_string(L, "package_manager", pm);
}

static int lfacts_collect(lua_State *L)
{
	lua_newtable(L);
	names(L);
	os_release(L);
	hardware(L);
	addresses(L);
	system_tools(L);
	return 1;
}

int luaopen_ccchef_facts(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"collect", lfacts_collect},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
