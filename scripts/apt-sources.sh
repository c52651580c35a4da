# shellcheck shell=bash
# Sourced by setup-system.sh, build-qemu.sh and debian-chroot.sh: what this
# machine's apt knows, read from its own configuration (no mirror or release
# name is written into the scripts).  APT_ETC and OS_RELEASE (default
# /etc/apt, /etc/os-release) point elsewhere for the tests.
APT_ETC=${APT_ETC:-/etc/apt}
OS_RELEASE=${OS_RELEASE:-/etc/os-release}

# The running release's code name (bookworm, trixie, ...).
release_codename() {
    # Locals, so that reading os-release sets no global of the caller's.
    # shellcheck disable=SC2034
    local VERSION_CODENAME='' VERSION_ID='' ID=''
    # shellcheck source=/dev/null
    . "$OS_RELEASE"
    if [ -n "$VERSION_CODENAME" ]; then
        echo "$VERSION_CODENAME"
    else
        # Older os-release files name the suite only in VERSION ("12 (bookworm)").
        sed -n 's/^VERSION=.*(\([a-z]*\)).*/\1/p' "$OS_RELEASE"
    fi
}

# One line per (URI, suite) of the machine's enabled binary ("deb") sources:
#   URI<TAB>SUITE<TAB>COMPONENTS<TAB>SIGNED-BY
# from deb822 *.sources files and one-line sources.list / *.list files.
deb_sources() {
    local files=() f
    [ -f "$APT_ETC/sources.list" ] && files+=("$APT_ETC/sources.list")
    for f in "$APT_ETC"/sources.list.d/*.list "$APT_ETC"/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    for f in "${files[@]}"; do
        case "$f" in
        *.sources)
            # Stanzas are separated by blank lines; a field may be folded
            # onto following lines that start with a space.
            awk '
                function flush(   n, u, s, i, j, us, ss) {
                    if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
                        n = split(uris, us, /[ \t]+/); split(suites, ss, /[ \t]+/)
                        for (i = 1; i <= n; i++) if (us[i] != "")
                            for (j in ss) if (ss[j] != "")
                                printf "%s\t%s\t%s\t%s\n", us[i], ss[j], comps, signed
                    }
                    types = uris = suites = comps = signed = enabled = ""; last = ""
                }
                /^#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/ { if (last != "") { v = $0; sub(/^[ \t]+/, "", v)
                                              if (last == "types") types = types " " v
                                              if (last == "uris") uris = uris " " v
                                              if (last == "suites") suites = suites " " v
                                              if (last == "components") comps = comps " " v }
                           next }
                {
                    k = tolower($0); sub(/:.*/, "", k); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
                    last = k
                    if (k == "types") types = v; else if (k == "uris") uris = v
                    else if (k == "suites") suites = v; else if (k == "components") comps = v
                    else if (k == "signed-by") signed = v; else if (k == "enabled") enabled = v
                    else last = ""
                }
                END { flush() }' "$f"
            ;;
        *)
            awk '
                /^[ \t]*deb[ \t]/ {
                    line = $0; sub(/#.*/, "", line); signed = ""
                    if (match(line, /\[[^]]*\]/)) {
                        opts = substr(line, RSTART + 1, RLENGTH - 2)
                        line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
                        n = split(opts, o, /[ \t]+/)
                        for (i = 1; i <= n; i++) if (o[i] ~ /^signed-by=/) { signed = o[i]; sub(/^signed-by=/, "", signed) }
                    }
                    n = split(line, w, /[ \t]+/); comps = ""
                    for (i = 4; i <= n; i++) if (w[i] != "") comps = comps (comps == "" ? "" : " ") w[i]
                    printf "%s\t%s\t%s\t%s\n", w[2], w[3], comps, signed
                }' "$f"
            ;;
        esac
    done
}

# deb822 deb-src stanzas for SUITE's source packages: the archive that
# serves the running release's main suite serves SUITE and SUITE-updates,
# the one that serves RELEASE-security serves SUITE-security.  A suite the
# archive has no -updates/-security for (sid) gets its main stanza only.
# Each stanza keeps the machine's URI and Signed-By.
deb_src_stanzas() {
    local suite=$1 release uri s signed
    release=$(release_codename)
    while IFS=$'\t' read -r uri s _ signed; do
        local target=
        case "$s" in
        "$release") target=$suite ;;
        "$release-updates") target=$suite-updates ;;
        "$release-security") target=$suite-security ;;
        *) continue ;;
        esac
        case "$suite" in sid|unstable|experimental|rc-buggy)
            [ "$target" = "$suite" ] || continue ;;
        esac
        printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\n' "$uri" "$target"
        [ -n "$signed" ] && printf 'Signed-By: %s\n' "$signed"
        printf '\n'
    done < <(deb_sources | sort -u)
}
