# Runs the gRPC interop test server that ships with the grpc gem (Debian: ruby-grpc), bound to
# 127.0.0.1 only. Usage: ruby server.rb PORT
#
# The gem's src/ruby/pb/test/server.rb is run as it is, with `--port PORT`. It binds 0.0.0.0, so
# the one call it makes to add a port is narrowed to the loopback address before it is loaded.
require 'grpc'

port = Integer(ARGV.fetch(0) { abort 'usage: ruby server.rb PORT' })

# Turns 0.0.0.0:PORT into 127.0.0.1:PORT, and refuses any other address.
module LoopbackOnly
  def add_http2_port(host, creds)
    loopback = host.sub(/\A0\.0\.0\.0:(\d+)\z/, '127.0.0.1:\1')
    raise ArgumentError, "interop server asked to bind #{host}, not 0.0.0.0:PORT" if loopback == host

    super(loopback, creds)
  end
end
GRPC::RpcServer.prepend(LoopbackOnly)

interop_server = File.join(Gem::Specification.find_by_name('grpc').gem_dir,
                           'src', 'ruby', 'pb', 'test', 'server.rb')
abort "the grpc gem has no interop server at #{interop_server}" unless File.file?(interop_server)

$stdout.sync = true
ARGV.replace(['--port', port.to_s])
load interop_server
