#include "cli/cli.h"

#include <signal.h>

int main(int argc, char **argv)
{
        /* A reader that goes away (a player, head) is an EPIPE to report, not a death. */
        signal(SIGPIPE, SIG_IGN);
        return cli_main(argc, argv);
}
