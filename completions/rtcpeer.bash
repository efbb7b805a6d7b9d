# bash completion for rtcpeer
_rtcpeer()
{
	local cur prev words cword
	_init_completion || return

	local commands="offer answer probe identity help version"
	local opts="--compact --signal-in --signal-out --timeout --listen --connect --token --tls-cert --tls-key --connect-ca --data --video --audio
		--video-out --audio-out --record-video --record-audio --preview --impair --stun --turn --turn-ca --ice-policy --duration --identity --label --unordered --max-retransmits
		--max-lifetime --stats --expect --summary --video-size --fps --video-bitrate --audio-bitrate --audio-fec
		--audio-dtx --verbose --quiet
		--help"

	if [[ $cword -eq 1 ]]; then
		COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
		return
	fi
	case ${words[1]} in
	help)
		[[ $cword -eq 2 ]] && COMPREPLY=($(compgen -W "offer answer probe identity" -- "$cur"))
		return
		;;
	identity)
		[[ $cword -eq 2 ]] && _filedir
		return
		;;
	probe)
		[[ $prev == --stun ]] && return
		COMPREPLY=($(compgen -W "--stun --verbose --help" -- "$cur"))
		return
		;;
	offer | answer) ;;
	*) return ;;
	esac
	case $prev in
	--signal-in | --signal-out | --video-out | --record-video | --record-audio | --turn-ca | --identity | --tls-cert | --tls-key | --connect-ca)
		_filedir
		return
		;;
	--video)
		COMPREPLY=($(compgen -W "test $(compgen -G '/dev/video*')" -- "$cur"))
		_filedir y4m
		return
		;;
	--audio)
		COMPREPLY=($(compgen -W "test default" -- "$cur"))
		_filedir wav
		return
		;;
	--audio-out)
		COMPREPLY=($(compgen -W "default" -- "$cur"))
		return
		;;
	--listen | --connect | --token)
		return
		;;
	--ice-policy)
		COMPREPLY=($(compgen -W "all relay" -- "$cur"))
		return
		;;
	--impair)
		COMPREPLY=($(compgen -W "loss= delay= jitter= reorder= duplicate= rate=" -- "$cur"))
		compopt -o nospace
		return
		;;
	--stats | --summary)
		_filedir
		return
		;;
	--expect)
		# The stats types; the fields are those --stats writes (see man rtcpeer).
		COMPREPLY=($(compgen -W "transport. candidate-pair.selected. candidate-pair.selected.local.
			candidate-pair.selected.remote. outbound-rtp.audio. outbound-rtp.video.
			remote-inbound-rtp.audio. remote-inbound-rtp.video. inbound-rtp.audio.
			inbound-rtp.video. data-channel. setup." -- "$cur"))
		compopt -o nospace
		return
		;;
	--timeout | -t | --stun | --turn | --duration | --label | --max-retransmits | --max-lifetime | \
		--video-size | --fps | --video-bitrate | --audio-bitrate)
		return
		;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _rtcpeer rtcpeer
