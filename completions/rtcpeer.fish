# fish completion for rtcpeer
set -l cmds offer answer probe identity help version
complete -c rtcpeer -f
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a offer -d 'write an SDP offer, read the answer'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a answer -d 'read an SDP offer, write the answer'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a probe -d 'show public addresses and NAT behaviour'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a identity -d 'create a DTLS key and certificate'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a help -d 'show help for a command'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -a version -d 'show the version'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -s h -l help -d 'show help'
complete -c rtcpeer -n "not __fish_seen_subcommand_from $cmds" -s V -l version -d 'show the version'
complete -c rtcpeer -n "__fish_seen_subcommand_from help" -a 'offer answer probe identity'
complete -c rtcpeer -n "__fish_seen_subcommand_from probe" -l stun -x -d 'STUN server URI'
complete -c rtcpeer -n "__fish_seen_subcommand_from identity" -F

set -l s "__fish_seen_subcommand_from offer answer"
complete -c rtcpeer -n $s -s c -l compact -d 'write the description as one compact token line'
complete -c rtcpeer -n $s -l signal-in -r -F -d 'read the peer description from FILE, a FIFO or fd:N'
complete -c rtcpeer -n $s -l signal-out -r -F -d 'write our description to FILE, a FIFO or fd:N'
complete -c rtcpeer -n $s -s t -l timeout -x -d 'seconds to wait for the peer description'
complete -c rtcpeer -n $s -l data -d 'carry stdin/stdout over a data channel'
complete -c rtcpeer -n $s -l video -r -a 'test' -d 'video source'
complete -c rtcpeer -n $s -l audio -r -a 'test default' -d 'audio source'
complete -c rtcpeer -n $s -l video-out -r -F -d 'write received video as Y4M'
complete -c rtcpeer -n $s -l audio-out -x -a 'default' -d 'play received audio on an ALSA PCM'
complete -c rtcpeer -n $s -l stun -x -d 'STUN server URI'
complete -c rtcpeer -n $s -l turn -x -d 'TURN server URI'
complete -c rtcpeer -n $s -l turn-ca -r -F -d 'trust anchors for turns: servers'
complete -c rtcpeer -n $s -l ice-policy -x -a 'all relay' -d 'which candidates to use'
complete -c rtcpeer -n $s -l duration -x -d 'hang up this long after establishment'
complete -c rtcpeer -n $s -l identity -r -F -d 'DTLS key and certificate file'
complete -c rtcpeer -n $s -s v -l verbose -d 'more detail'
complete -c rtcpeer -n $s -s q -l quiet -d 'errors only'
complete -c rtcpeer -n $s -s h -l help -d 'show help'
