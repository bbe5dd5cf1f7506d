package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/spf13/cobra"
)

func newLoginCmd(g *globalFlags) *cobra.Command {
	var user string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login REGISTRY -u USER --password-stdin",
		Short: "Store registry credentials in ~/.docker/config.json (as docker login does)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if user == "" || !passwordStdin {
				return usageError{fmt.Errorf("login needs -u USER and --password-stdin")}
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			// Like docker login, save only what the registry accepts.
			c, err := newClient(g)
			if err != nil {
				return err
			}
			if err := c.CheckLogin(cmd.Context(), checkHost(args[0]), user, pw); err != nil {
				return err
			}
			cf, err := config.Load(config.Dir())
			if err != nil {
				return fmt.Errorf("reading docker config: %w", err)
			}
			host := registryHost(args[0])
			if err := cf.GetCredentialsStore(host).Store(types.AuthConfig{ServerAddress: host, Username: user, Password: pw}); err != nil {
				return fmt.Errorf("storing credentials: %w", err)
			}
			if err := cf.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Login Succeeded (credentials for %s saved)\n", host)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Remove stored registry credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cf, err := config.Load(config.Dir())
			if err != nil {
				return err
			}
			host := registryHost(args[0])
			if err := cf.GetCredentialsStore(host).Erase(host); err != nil {
				return err
			}
			return cf.Save()
		},
	}
}

// registryHost keys Docker Hub as docker login does.
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io" {
		return "https://index.docker.io/v1/"
	}
	return strings.TrimSuffix(s, "/")
}

// checkHost is the registry to ask: host[:port] without a scheme or path.
func checkHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	host, _, _ := strings.Cut(s, "/")
	return host
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("empty password on standard input")
	}
	return pw, nil
}
