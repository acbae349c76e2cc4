#!/bin/sh
# Greps the code that runs inside the SIGPROF handler for calls that are not
# async-signal-safe (after curl's banned-function check).  Handler code is
# every function whose name ends in _sigsafe, plus preload/handler.c whole.
set -eu
banned='\b(malloc|calloc|realloc|free|strdup|printf|fprintf|snprintf|vsnprintf|sprintf|syslog|puts|fputs|fopen|fclose|pthread_mutex_lock|pthread_mutex_trylock|pthread_rwlock_[a-z]*|dlsym|dlopen|dladdr|getenv|setenv|cg_log|CG_(ERROR|WARN|INFO|DEBUG)|exit|abort|sleep|usleep|unw_step|unw_init_local)\s*\('
status=0
files=$(find preload core -name '*.c' 2>/dev/null | sort)
for f in $files; do
    # Extract the bodies of *_sigsafe functions (from the definition line to
    # the closing brace in column 0), and all of preload/handler.c.
    body=$(awk -v whole="$( [ "$f" = preload/handler.c ] && echo 1 || echo 0)" '
        whole == 1 { print FILENAME ":" FNR ": " $0; next }
        /^[a-z].*_sigsafe\(/ && $0 !~ /;[ \t]*$/ { inside = 1 }
        inside { print FILENAME ":" FNR ": " $0 }
        inside && /^}/ { inside = 0 }
    ' "$f")
    hits=$(printf '%s\n' "$body" | grep -v '^\S*: *\(/\*\|\*\|//\)' | grep -E "$banned" || true)
    if [ -n "$hits" ]; then
        echo "lint-handler: banned call in signal-handler code:"
        echo "$hits"
        status=1
    fi
done
[ $status -eq 0 ] && echo "lint-handler: handler code uses only async-signal-safe calls"
exit $status
