/* uart.c: the 16550 subset: enough for a guest's early printk and a polled console. */
#include "uart.h"

#define UART_LCR_DLAB 0x80
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_IIR_NONE 0x01 /* no interrupt pending */
#define UART_MSR_IDLE 0xb0 /* DCD, DSR, CTS: a cable that is always ready */

void uart_init(struct uart *u, int fd)
{
	*u = (struct uart){ .fd = fd, .lcr = 0x03 /* 8N1 */, .dll = 1 /* 115200 */ };
}

bool uart_owns(uint16_t port)
{
	return port >= UART_BASE && port < UART_BASE + UART_NPORTS;
}

/* Returns true when v was written to THR: a byte for the console. */
static bool uart_write(struct uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (reg) {
	case 0:
		if (!dlab)
			return u->fd >= 0;
		u->dll = v;
		break;
	case 1:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case 3: u->lcr = v; break;
	case 4: u->mcr = v & 0x1f; break;
	case 7: u->scr = v; break;
	default: break; /* FCR, LSR, MSR writes: nothing to model */
	}
	return false;
}

static uint8_t uart_read(const struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (reg) {
	case 0: return dlab ? u->dll : 0; /* no input */
	case 1: return dlab ? u->dlm : u->ier;
	case 2: return UART_IIR_NONE;
	case 3: return u->lcr;
	case 4: return u->mcr;
	case 5: return UART_LSR_THRE | UART_LSR_TEMT;
	case 6: return UART_MSR_IDLE;
	default: return u->scr;
	}
}

bool uart_io(struct uart *u, uint16_t port, bool is_write, uint8_t *data)
{
	if (!uart_owns(port))
		return false;
	unsigned reg = port - UART_BASE;
	if (is_write)
		return uart_write(u, reg, *data);
	*data = uart_read(u, reg);
	return false;
}
