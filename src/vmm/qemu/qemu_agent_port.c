/* The guest agent's channel under QEMU (docs/agent-protocol.md §1): a
 * virtio-serial device with one port named org.smartvm.agent.0, backed by
 * a unix socket in the VM directory that QEMU listens on and the VM's
 * supervisor connects to. Every VM gets it: it costs a device and a
 * listening socket, and any image with the agent then works without
 * configuration. vhost-vsock would do as well where /dev/vhost-vsock
 * exists; the serial port works everywhere, so it is the one transport
 * QEMU VMs use. */
#include "vmm/qemu/qemu.h"
#include "vmm/qemu/qemu_internal.h"

#include "agent_proto.h"

void sv_qemu_push_agent_port(sv_strv_builder *argv, const char *escaped_vm_dir)
{
	sv_strv_push(argv, "-device");
	sv_strv_push(argv, "virtio-serial-device,max_ports=2");
	sv_strv_push(argv, "-chardev");
	if (escaped_vm_dir)
		sv_strv_pushf(argv, "socket,id=agent,path=%s/%s,server=on,wait=off", escaped_vm_dir,
			      SV_QEMU_AGENT_PORT_SOCKET);
	else
		sv_strv_push(argv, NULL);
	sv_strv_push(argv, "-device");
	sv_strv_push(argv, "virtserialport,chardev=agent,name=" SVA_SERIAL_PORT_NAME);
}
