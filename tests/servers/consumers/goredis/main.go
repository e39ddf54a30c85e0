// Command goredis is the go-redis v9 row of the consumer matrix (tests/servers/consumers/): it connects with one
// application's contract as its environment, as a Go application would, writes the key named by KEY and prints
// the value it reads back.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// tlsConfig trusts only the contract's CA (REDIS_CA_CERT, PEM text), when REDIS_TLS is "true".
func tlsConfig() *tls.Config {
	if os.Getenv("REDIS_TLS") != "true" {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(os.Getenv("REDIS_CA_CERT"))) {
		fail("REDIS_CA_CERT holds no certificate")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func client() redis.UniversalClient {
	// Sentinel mode hands out REDIS_URL too (the master endpoint): this program asks the Sentinels there.
	if os.Getenv("REDIS_SENTINEL_HOSTS") == "" {
		options, err := redis.ParseURL(os.Getenv("REDIS_URL"))
		if err != nil {
			fail("REDIS_URL: %v", err)
		}
		if options.TLSConfig != nil {
			options.TLSConfig = tlsConfig()
		}
		return redis.NewClient(options)
	}
	db, err := strconv.Atoi(os.Getenv("REDIS_DB"))
	if err != nil {
		fail("REDIS_DB: %v", err)
	}
	// One TLS configuration for the Sentinels and the master: the contract's CA signs both.
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:       os.Getenv("REDIS_SENTINEL_MASTER"),
		SentinelAddrs:    strings.Split(os.Getenv("REDIS_SENTINEL_HOSTS"), ","),
		SentinelPassword: os.Getenv("REDIS_SENTINEL_PASSWORD"),
		Username:         os.Getenv("REDIS_USERNAME"),
		Password:         os.Getenv("REDIS_PASSWORD"),
		DB:               db,
		TLSConfig:        tlsConfig(),
	})
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := client()
	defer rdb.Close()
	key := os.Getenv("KEY")
	if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		fail("SET %s: %v", key, err)
	}
	value, err := rdb.Get(ctx, key).Result()
	if err != nil {
		fail("GET %s: %v", key, err)
	}
	fmt.Println(value)
}
