# bash completion for copyjobctl(1)                                 -*- shell-script -*-
# SPDX-License-Identifier: MIT

_copyjobctl()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        COMPREPLY=()
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands='list get stats health sync watch'
    local global_opts='--socket --help --version'

    # Values of options that take one.
    case $prev in
        --socket)
            # The socket is a file; complete paths.
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --status)
            COMPREPLY=($(compgen -W 'InProgress Completed Failed' -- "$cur"))
            return
            ;;
        --sort)
            COMPREPLY=($(compgen -W 'asc desc' -- "$cur"))
            return
            ;;
        --since | --until)
            COMPREPLY=($(compgen -W '1h 12h 1d 7d 30d 2w' -- "$cur"))
            return
            ;;
        --account | --source-model | --region | --job-account | --name-contains | --limit | --after)
            return
            ;;
    esac

    # The command is the first word that is not an option or an option's value.
    local i cmd=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --socket) ((i++)) ;;
            -*) ;;
            *)
                cmd=${words[i]}
                break
                ;;
        esac
    done

    local outputs='table json'
    case $cmd in
        list) outputs='table json ndjson csv' ;;
        watch) outputs='table json ndjson' ;;
    esac
    if [[ $prev == --output || $prev == -o ]]; then
        COMPREPLY=($(compgen -W "$outputs" -- "$cur"))
        return
    fi

    local opts
    case $cmd in
        '')
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            fi
            return
            ;;
        list)
            opts='--status --since --until --account --source-model --region --job-account --name-contains --sort
                  --limit --all --output --help'
            ;;
        get | stats | health) opts='--output --help' ;;
        sync) opts='--full --wait --output --help' ;;
        watch) opts='--after --output --help' ;;
        *) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}
complete -F _copyjobctl copyjobctl
